/**
 * Every model profile end to end through the engine against the simulator speaking that model:
 * the request the profile builds (message shape, image as prepared, sampling, extras), the answer
 * in the model's shape parsed into typed blocks, and a loop cut at max_tokens.
 * (vllm-profiles-pipeline.test.ts runs the whole pipeline once per profile.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { FolioError } from '../shared/operations/index.ts';
import type { PageInput } from '../services/ocr/engine.ts';
import { createVllmEngine } from '../services/ocr/engines/vllm/engine.ts';
import { PROFILE_NAMES, PROFILES, type ProfileName } from '../services/ocr/engines/vllm/profiles.ts';
import { startVllmSimulator, SIM_MARKER, type VllmSimulatorOptions } from '../tools/vllm-sim/server.ts';

const FAST: VllmSimulatorOptions = { prefillMs: 1, msPerToken: 0.02, tokensPerPage: 200 };
const W = 850;
const H = 1100;

async function pageInput(): Promise<PageInput> {
  const image = await sharp({ create: { width: W, height: H, channels: 3, background: 'white' } })
    .png()
    .toBuffer();
  return { page: 1, image, width: W, height: H, task: 'markdown' };
}

async function setup(t: { after: (fn: () => unknown) => void }, name: ProfileName, sim: VllmSimulatorOptions = {}) {
  const model = PROFILES[name].hfModel;
  const s = await startVllmSimulator({ ...FAST, model, maxModelLen: name.startsWith('deepseek') ? 8192 : 32_768, ...sim });
  t.after(() => s.close());
  const engine = await createVllmEngine({
    baseUrls: [s.url],
    model,
    profiles: [name],
    apiKey: 'EMPTY',
    maxTokens: 4000,
    timeoutMs: 10_000,
    maxWindow: 8,
    minWindow: 1,
    metricsIntervalMs: 0,
  });
  t.after(() => engine.close());
  return { sim: s, engine };
}

type Body = { messages: Array<{ role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> }> } & Record<
  string,
  unknown
>;
const userParts = (b: Body) => b.messages.find((m) => m.role === 'user')!.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
async function sentSize(b: Body) {
  const url = userParts(b).find((p) => p.type === 'image_url')!.image_url!.url;
  const meta = await sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')).metadata();
  return [meta.width, meta.height];
}
const signal = () => new AbortController().signal;

describe('each profile against the simulator speaking its model', () => {
  const cases: Record<Exclude<ProfileName, 'plain' | 'deepseek-ocr'>, { types: string[]; requests: number; check(b: Body): Promise<void> | void }> = {
    'deepseek-ocr-2': {
      types: ['title', 'text', 'text', 'sub_title', 'table', 'table_caption', 'equation', 'image', 'image_caption'],
      requests: 1,
      check: (b) => assert.deepEqual([b.skip_special_tokens, (b.vllm_xargs as { ngram_size: number }).ngram_size], [false, 20]),
    },
    'dots-ocr': {
      types: ['header', 'title', 'text', 'text', 'caption', 'table', 'equation', 'image', 'footer'],
      requests: 1,
      check: (b) => {
        assert.match(userParts(b)[1].text!, /^<\|img\|><\|imgpad\|><\|endofimg\|>Please output the layout information/);
        assert.equal(b.temperature, 0.1);
      },
    },
    'olmocr-2': {
      types: ['title', 'text', 'text', 'table', 'equation'],
      requests: 1,
      check: async (b) => {
        assert.deepEqual(
          userParts(b).map((p) => p.type),
          ['text', 'image_url'],
        );
        assert.deepEqual(await sentSize(b), [Math.round((W * 1288) / H), 1288]);
      },
    },
    chandra: {
      types: ['header', 'title', 'text', 'text', 'table', 'equation', 'image', 'footer'],
      requests: 1,
      check: async (b) => {
        assert.deepEqual([b.temperature, b.top_p], [0, 0.1]);
        // Short side raised to 1536 px (chandra's load_image).
        assert.deepEqual(await sentSize(b), [1536, Math.round((H * 1536) / W)]);
      },
    },
    'nanonets-ocr2': {
      types: ['header', 'title', 'text', 'text', 'table', 'image', 'text', 'page_number', 'watermark'],
      requests: 1,
      check: async (b) => {
        assert.deepEqual(
          b.messages.map((m) => m.role),
          ['system', 'user'],
        );
        assert.deepEqual(await sentSize(b), [1280, Math.round((H * 1280) / W)]);
      },
    },
    'paddleocr-vl': {
      types: ['text', 'text', 'text'],
      requests: 1,
      check: (b) => {
        assert.equal(userParts(b)[1].text, 'OCR:');
        assert.deepEqual(b.mm_processor_kwargs, { min_pixels: 112_896, max_pixels: 1_003_520 });
      },
    },
    'mineru-2.5': {
      types: ['header', 'title', 'text', 'text', 'table_caption', 'table', 'equation', 'image', 'page_number'],
      // One layout call, then one per block but the image.
      requests: 1 + 8,
      check: (b) => {
        assert.deepEqual(
          b.messages.map((m) => m.role),
          ['system', 'user'],
        );
        assert.equal(b.skip_special_tokens, false);
      },
    },
  };

  for (const [name, c] of Object.entries(cases) as Array<[ProfileName, (typeof cases)[keyof typeof cases]]>) {
    it(`${name}: request in the model's shape, answer parsed into typed blocks in page pixels`, async (t) => {
      const { sim, engine } = await setup(t, name);
      const out = await engine.recognize(await pageInput(), signal());
      assert.equal(sim.stats().received, c.requests);
      assert.deepEqual(
        out.blocks.map((b) => b.type),
        c.types,
      );
      assert.ok(
        out.blocks.every((b) => b.bbox[2] <= W && b.bbox[3] <= H && b.bbox[0] < b.bbox[2] && b.bbox[1] < b.bbox[3]),
        JSON.stringify(out.blocks.map((b) => b.bbox)),
      );
      assert.ok(out.blocks.some((b) => b.text.includes(SIM_MARKER)));
      assert.doesNotMatch(out.markdown, /<\|[a-z_/]+\|>|<div\b|data-bbox|"bbox"|<page_number>|<watermark>/);
      const table = out.blocks.find((b) => b.type === 'table');
      if (table && name !== 'paddleocr-vl') assert.match(table.text, /width\t/);
      await c.check(sim.stats().lastRequestBody as Body);
    });
  }

  it('boxes land where the model put them: dots.ocr (smart-resize pixels), Chandra (0–1024), MinerU (0–1000) agree on the same layout', async (t) => {
    const boxes: Record<string, number[][]> = {};
    for (const name of ['dots-ocr', 'chandra', 'mineru-2.5'] as const) {
      const { engine } = await setup(t, name);
      const out = await engine.recognize(await pageInput(), signal());
      boxes[name] = out.blocks.filter((b) => b.type === 'table' || b.type === 'equation').map((b) => b.bbox);
    }
    // The simulator puts the table at 6–94 % × 28–42 % of the page and the formula at 20–80 % × 44–48 %.
    for (const name of Object.keys(boxes)) {
      for (const [i, want] of [
        [0.06 * W, 0.28 * H, 0.94 * W, 0.42 * H],
        [0.2 * W, 0.44 * H, 0.8 * W, 0.48 * H],
      ].entries()) {
        boxes[name][i].forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 3, `${name} block ${i}: ${boxes[name][i]} vs ${want}`));
      }
    }
  });

  it('a loop cut at max_tokens: profiles with a lighter prompt retry with it, the others fail the page as truncated', async (t) => {
    for (const name of PROFILE_NAMES.filter((n) => n !== 'plain')) {
      const { sim, engine } = await setup(t, name, { faults: { next: ['length', 'length'] } });
      const p = PROFILES[name];
      if (p.fallbackPrompt) {
        await assert.rejects(engine.recognize(await pageInput(), signal()), (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_TRUNCATED');
        assert.equal(sim.stats().received, 2, name);
        const last = sim.stats().lastRequestBody as Body;
        assert.ok(
          userParts(last).some((x) => x.text?.endsWith(p.fallbackPrompt!)),
          `${name} retried with its fallback prompt`,
        );
      } else {
        await assert.rejects(
          engine.recognize(await pageInput(), signal()),
          (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_TRUNCATED' && e.details?.fallback === false,
        );
        assert.equal(sim.stats().received, 1, name);
      }
      assert.equal(sim.stats().finished.length, sim.stats().received);
    }
  });

  it("a MinerU block call that fails drops the page's other calls (aborted in vLLM, not left running)", async (t) => {
    const { sim, engine } = await setup(t, 'mineru-2.5', { msPerToken: 5, faults: { next: [null, 'malformed'] as never } });
    await assert.rejects(engine.recognize(await pageInput(), signal()), (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_MALFORMED');
    // Each abort reaches the simulator as its own closed connection: wait for all of them (a call
    // really left running would generate for many seconds at 5 ms a token, far past this deadline).
    const deadline = Date.now() + 3000;
    while ((sim.stats().finished.abort === 0 || sim.stats().running > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sim.stats().finished.abort >= 1, JSON.stringify(sim.stats().finished));
    assert.equal(sim.stats().running, 0);
  });

  it('a looping block fails a MinerU page as truncated (mineru-vl-utils raises on finish_reason length)', async (t) => {
    const { sim, engine } = await setup(t, 'mineru-2.5', { faults: { next: [null, null, 'length'] as never } });
    await assert.rejects(engine.recognize(await pageInput(), signal()), (e: unknown) => e instanceof FolioError && e.code === 'FOLIO_ENGINE_TRUNCATED');
    assert.ok(sim.stats().received >= 3);
  });
});
