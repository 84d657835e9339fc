// `skiff images import FILE | ls | rm REF… | pull REF`: the node's image store
// (DATA/images, shared with the agent) from the command line, so air-gapped
// machines can load images from archives.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { familiarReference, parseReference } from '../agent/images/reference.ts';
import { loadRegistriesConfig } from '../agent/images/registries-config.ts';
import { ImageService } from '../agent/images/service.ts';
import type { ImageRecord } from '../agent/images/store.ts';
import { defaultDataDir } from './server.ts';

interface ImagesFlags {
  dataDir: string;
}

/** Docker's HumanSize: four significant digits, decimal units (`1.084MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** Rows as `crictl images` prints them: IMAGE, TAG, IMAGE ID, SIZE. */
export function formatImageTable(records: ImageRecord[]): string {
  const rows = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
  for (const r of records) rows.push([r.repository, r.tag ?? '<none>', r.imageId.slice('sha256:'.length, 'sha256:'.length + 13), humanSize(r.size)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('')).join('\n');
}

async function withService<T>(flags: ImagesFlags, extra: { registriesConfig?: string }, use: (service: ImageService) => Promise<T>): Promise<T> {
  const service = await ImageService.open({ dataDir: resolve(flags.dataDir), registriesConfig: loadRegistriesConfig(extra.registriesConfig) });
  try {
    return await use(service);
  } catch (err) {
    // A user's mistake (no such file, a bad archive, a failed pull) is a message, not a stack trace.
    console.error(`skiff images: ${(err as Error).message}`);
    process.exit(1);
  } finally {
    service.close();
  }
}

export function imagesCommand(): Command {
  const images = new Command('images').description('Manage the node\'s images (DATA/images, shared with the agent)');
  const dataDirOption = ['--data-dir <dir>', 'state directory (as `skiff server`/`skiff agent`)', defaultDataDir()] as const;

  images.command('import')
    .description('Load images from an OCI image layout tar or a `docker save` archive')
    .argument('<file>', 'archive to import (plain or gzip-compressed tar)')
    .option('--name <reference>', 'name for images the archive names only by tag, or not at all')
    .option(...dataDirOption)
    .action(async (file: string, flags: ImagesFlags & { name?: string }) => {
      const records = await withService(flags, {}, (service) => service.importArchive({ file: resolve(file), name: flags.name }));
      for (const r of records) console.log(`imported ${r.reference} (${r.digest})`);
    });

  images.command('ls')
    .alias('list')
    .description('List the images in the store')
    .option('-q, --quiet', 'print only references')
    .option(...dataDirOption)
    .action(async (flags: ImagesFlags & { quiet?: boolean }) => {
      const records = await withService(flags, {}, async (service) => service.list());
      console.log(flags.quiet ? records.map((r) => r.reference).join('\n') : formatImageTable(records));
    });

  images.command('rm')
    .alias('remove')
    .description('Remove images (and the layers no other image shares)')
    .argument('<reference...>', 'images to remove, e.g. busybox:1.36')
    .option(...dataDirOption)
    .action(async (references: string[], flags: ImagesFlags) => {
      await withService(flags, {}, async (service) => {
        for (const ref of references) {
          if (!(await service.remove(ref))) {
            console.error(`skiff images rm: no such image: ${ref}`);
            process.exitCode = 1;
          } else {
            console.log(`Deleted: ${familiarReference(parseReference(ref))}`);
          }
        }
      });
    });

  images.command('pull')
    .description('Pull an image from its registry into the store')
    .argument('<reference>', 'image to pull, e.g. 127.0.0.1:5000/busybox:1')
    .option('--registries-config <file>', 'registries.yaml (k3s shape): mirrors, auth, TLS')
    .option(...dataDirOption)
    .action(async (reference: string, flags: ImagesFlags & { registriesConfig?: string }) => {
      const record = await withService(flags, flags, (service) => service.pull({ image: reference }));
      console.log(`Image is up to date for ${record.reference}@${record.digest}`);
    });

  return images;
}
