export function applyDefaults(_o: any): void {}
export function generateJobSelector(_o: any): void {}
export interface FieldError { type: string; field: string; message: string }
export function validateAgainstSchema(_o: any): { errors: FieldError[]; unknownFields: string[] } { return { errors: [], unknownFields: [] }; }
export function validateObject(_o: any): FieldError[] { return []; }
