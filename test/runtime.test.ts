import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

describe('runtime', () => {
  it('runs on Node 24 LTS, brought by npm even where the machine has an older Node', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });

  it('declares the engines range the libraries need', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('>=22.12');
  });
});
