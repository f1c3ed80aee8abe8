// Outside tools the tests drive (promtool, Chromium, LibreOffice, Tesseract, pdftotext…). On a
// developer's machine a missing one skips its checks and says so; under CI=true it is a failure,
// so a broken install can never pass as a green run that checked nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface OutsideTool {
  /** The `skip` option for node:test: false when the tool is there, else the reason. */
  skip: false | string;
  present: boolean;
}

const inCi = () => /^(1|true)$/i.test(process.env.CI ?? '');

/**
 * `probe` is an executable path (checked for existence) or a command line run once (exit status 0
 * means present). `install` tells the reader what provides it.
 */
export function outsideTool(name: string, probe: string | string[], install: string): OutsideTool {
  const present = typeof probe === 'string' ? existsSync(probe) : spawnSync(probe[0], probe.slice(1), { stdio: 'ignore' }).status === 0;
  if (present) return { skip: false, present };
  const reason = `${name} is not installed (${install})`;
  if (inCi()) throw new Error(`${reason}: CI=true, so this is a failure, not a skip (tools/install.sh installs it)`);
  console.log(`# ${reason}: its checks are skipped`);
  return { skip: reason, present };
}
