/**
 * The simulator speaks every profile: a request built by a profile is answered in that model's
 * shape (read from the request alone, as a real server only ever gets its own model's requests),
 * the answer says SIMULATED, and the profile's own parser reads it back — a loop cut at max_tokens
 * included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { PROFILE_NAMES, PROFILES, type ProfileName } from '../services/ocr/engines/vllm/profiles.ts';
import { readCells } from '../services/ocr/engines/vllm/dots.ts';
import { detectProfile } from '../tools/vllm-sim/profiles.ts';
import { startVllmSimulator, SIM_MARKER, type VllmSimulatorOptions } from '../tools/vllm-sim/server.ts';

const FAST: VllmSimulatorOptions = { prefillMs: 1, msPerToken: 0, tokensPerPage: 100, maxModelLen: 32_768 };

async function ask(url: string, body: Record<string, unknown>) {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  const j = (await r.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
  return { content: j.choices[0].message.content, finish: j.choices[0].finish_reason };
}

const image = () =>
  sharp({ create: { width: 600, height: 800, channels: 3, background: 'white' } })
    .png()
    .toBuffer();

describe('vllm-sim: one answer shape per model', () => {
  it("reads which model a profile's request is for from the request alone", () => {
    for (const name of PROFILE_NAMES.filter((n) => n !== 'plain')) {
      const p = PROFILES[name];
      const body = p.body({ model: p.hfModel, image: Buffer.alloc(0), prompt: p.prompts.markdown, maxTokens: 10 }) as {
        messages: Array<{ role: string; content: unknown }>;
      };
      const system = body.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content as string)
        .join('');
      const user = body.messages.find((m) => m.role === 'user')!.content as Array<{ type: string; text?: string }>;
      const prompt = user
        .filter((x) => x.type === 'text')
        .map((x) => x.text)
        .join('');
      assert.equal(detectProfile({ model: p.hfModel, prompt, system }), name);
    }
    assert.equal(detectProfile({ model: 'x', prompt: 'Read this page.', system: '' }), undefined);
  });

  for (const name of PROFILE_NAMES) {
    it(`${name}: the answer is in the model's shape, says SIMULATED, and its parser reads it`, async (t) => {
      const p = PROFILES[name];
      const sim = await startVllmSimulator({ ...FAST, model: p.hfModel });
      t.after(() => sim.close());
      const png = await image();
      const prompt = p.twoStage?.layoutPrompt ?? p.prompts.markdown;
      const { content, finish } = await ask(sim.url, p.body({ model: p.hfModel, image: png, prompt, maxTokens: 2000 }));
      assert.equal(finish, 'stop');
      const shape: Record<ProfileName, RegExp> = {
        'deepseek-ocr': /^<\|ref\|>title<\|\/ref\|><\|det\|>\[\[/,
        'deepseek-ocr-2': /^<\|ref\|>title<\|\/ref\|><\|det\|>\[\[/,
        'dots-ocr': /^\[\{"bbox":\[\d+,\d+,\d+,\d+\],"category":"Page-header"/,
        'olmocr-2': /^---\nprimary_language: en\nis_rotation_valid: True\n/,
        chandra: /^<div data-bbox="\d+ \d+ \d+ \d+" data-label="Page-Header">/,
        'nanonets-ocr2': /<page_number>1<\/page_number>[\s\S]*<img>[\s\S]*<watermark>/,
        'paddleocr-vl': /^Simulated page [0-9a-f]{16}\n/,
        'mineru-2.5': /^<\|box_start\|>60 20 940 40<\|box_end\|><\|ref_start\|>header<\|ref_end\|><\|rotate_up\|>/,
        plain: /^# Simulated page/,
      };
      assert.match(content, shape[name]);
      if (name !== 'mineru-2.5') assert.ok(content.includes(SIM_MARKER) || content.includes('SIMULATED'), content.slice(0, 200));
      const parsed = p.twoStage ? p.twoStage.blocks(content, 600, 800) : p.parse(content, 600, 800, { page: 1, task: 'markdown', prompt }).blocks;
      assert.ok(parsed.length >= 3, `${name}: ${parsed.length} blocks`);
    });
  }

  it('MinerU block calls: text, OTSL table and LaTeX answers by prompt', async (t) => {
    const p = PROFILES['mineru-2.5'];
    const sim = await startVllmSimulator({ ...FAST, model: p.hfModel });
    t.after(() => sim.close());
    const png = await image();
    const answer = async (prompt: string) => (await ask(sim.url, p.body({ model: p.hfModel, image: png, prompt, maxTokens: 500 }))).content;
    assert.match(await answer('\nText Recognition:'), /^SIMULATED OUTPUT \(vllm-sim\): a 600x800 px block/);
    assert.match(await answer('\nTable Recognition:'), /^<fcel>Property<fcel>Value<lcel><nl>/);
    assert.equal(await answer('\nFormula Recognition:'), 'A = 600 \\times 800');
  });

  it('a loop cut at max_tokens comes in the model’s shape: dots.ocr JSON cut inside a repeated cell, repaired by the parser', async (t) => {
    const p = PROFILES['dots-ocr'];
    const sim = await startVllmSimulator({ ...FAST, model: p.hfModel, faults: { next: ['length'] } });
    t.after(() => sim.close());
    const { content, finish } = await ask(sim.url, p.body({ model: p.hfModel, image: await image(), prompt: p.prompts.markdown, maxTokens: 500 }));
    assert.equal(finish, 'length');
    assert.throws(() => JSON.parse(content));
    const { cells, repaired } = readCells(content);
    assert.equal(repaired, true);
    assert.deepEqual(cells.map((c) => c.text).slice(-1), ['simulated repetition loop']);
  });

  it('an explicit profile wins over what the request says', async (t) => {
    const sim = await startVllmSimulator({ ...FAST, profile: 'chandra' });
    t.after(() => sim.close());
    const p = PROFILES['deepseek-ocr'];
    const { content } = await ask(sim.url, p.body({ model: 'deepseek-ai/DeepSeek-OCR', image: await image(), prompt: p.prompts.markdown, maxTokens: 500 }));
    // Chandra's shape for a prompt that asks for no layout: plain HTML paragraphs.
    assert.match(content, /^<p>SIMULATED OUTPUT \(vllm-sim\)[^<]*Chandra/);
  });
});
