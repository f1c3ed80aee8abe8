/**
 * The whole pipeline (ingest → rasterizer → OCR → assembler over NATS) once per model profile, the
 * simulator answering in that model's shape: a scanned page ends `completed` with the model's
 * answer parsed, no tag or JSON of the model's grammar left in the Markdown. Ingest, rasterizer and
 * assembler start once; each profile gets its own OCR service and simulator (the profile is the
 * OCR service's setting).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROFILE_NAMES, PROFILES } from '../services/ocr/engines/vllm/profiles.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

describe('the pipeline, once per profile (ingest → rasterizer → OCR → assembler over NATS, the simulator as the model)', () => {
  let nats: TestNats;
  let rest: TestStack;
  before(async () => {
    nats = await startNats();
    rest = await startTestStack({ nats, engine: 'cpu', services: ['ingest', 'rasterizer', 'assembler'] });
  });
  after(async () => {
    await rest?.close();
    await nats?.destroy();
  });
  // How the simulator's answer in each model's shape names the model.
  const SAYS: Record<string, string> = {
    'deepseek-ocr': 'not by DeepSeek-OCR',
    'deepseek-ocr-2': 'not by DeepSeek-OCR',
    'dots-ocr': "dots.ocr's answer shape",
    'olmocr-2': "olmOCR-2's answer shape",
    chandra: "Chandra's answer shape",
    'nanonets-ocr2': "Nanonets-OCR2's answer shape",
    'paddleocr-vl': "PaddleOCR-VL's answer shape",
    'mineru-2.5': "MinerU2.5's answer shape",
    plain: 'plain Markdown profile',
  };
  const png = readFileSync(path.join(import.meta.dirname, 'fixtures', 'english.png'));

  for (const name of PROFILE_NAMES) {
    it(`${name}: a scanned page comes back completed with the model's parsed text`, async () => {
      const model = PROFILES[name].hfModel;
      const ocr = await startTestStack({
        nats,
        services: ['ocr'],
        sim: { model, maxModelLen: name.startsWith('deepseek') ? 8192 : 32_768, tokensPerPage: 200 },
        env: { VLLM_MODEL: model, VLLM_PROFILES: name, VLLM_MAX_TOKENS: '4000' },
      });
      try {
        // Same bytes every time: bypass the result cache, or the first profile's answer comes back.
        const res = await upload(rest.url, '/v1/jobs', png, { filename: 'english.png', fields: { cache: 'bypass' } });
        assert.equal(res.status, 202, await res.clone().text());
        const { id } = await res.json();
        const job = await waitForTerminal(rest.url, id, 90_000);
        assert.equal(job.status, 'completed', JSON.stringify(job));
        const md = await (await fetch(`${rest.url}/v1/jobs/${id}/result?format=markdown`)).text();
        assert.match(md, /SIMULATED OUTPUT \(vllm-sim\)/);
        assert.ok(md.includes(SAYS[name]), `${name}: ${md.slice(0, 300)}`);
        assert.doesNotMatch(md, /<\|[a-z_/]+\|>|data-bbox|"bbox"|primary_language/);
        assert.ok(ocr.sim!.stats().completed >= (name === 'mineru-2.5' ? 2 : 1));
      } finally {
        await ocr.close();
      }
    });
  }
});
