// Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf) ⇄ JSON-shaped objects.
export { decodeKubernetesProtobuf, decodeProtobufMessage, hasKubernetesProtobufMagic } from './decode.ts';
export type { DecodeOptions, DecodedObject } from './decode.ts';
export { encodeKubernetesProtobuf, encodeProtobufMessage } from './encode.ts';
export type { EncodeOptions } from './encode.ts';
export {
  KUBERNETES_PROTOBUF_CONTENT_TYPE, KUBERNETES_PROTOBUF_MAGIC, ProtobufDecodeError, ProtobufEncodeError, messageForKind,
} from './facts.ts';
export type { ProtobufErrorReason } from './facts.ts';
