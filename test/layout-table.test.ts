import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/index.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** Lines of running prose, 24 px apart, in a column from x to x + 400. */
function column(x: number, top: number, n: number, tag: string, step = 24): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} prose line ${i} runs on across the column width here`, x, top + i * step, x + 400));
}

/** A table's rows as OCR or a text layer gives them: one piece per cell. */
function tableRows(rows: string[][], xs: number[], top: number, step = 22, h = 16): LayoutLine[] {
  return rows.flatMap((cells, r) => cells.map((c, k) => line(c, xs[k], top + r * step, xs[k] + Math.max(20, c.length * 8), h)));
}

const pipeRows = (md: string) => md.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('| ---'));

describe('tables beside text columns', () => {
  it('a table column beside a text column is a table of its own, and the prose stays prose', () => {
    // The table's rows (22 px) and the prose's lines (24 px) share heights, so rows built across
    // the page pair a table row with a prose line: the text column must not become a table column.
    const states = ['Ohio', 'Texas', 'Florida', 'Vermont', 'Iowa', 'Maine', 'Utah', 'Idaho'];
    const lines = [
      ...tableRows([['State', 'No.', 'Rate'], ...states.map((s, i) => [s, `${1000 + i * 37}`, `${(120.5 - i).toFixed(1)}`])], [60, 200, 300], 100),
      ...column(450, 96, 12, 'right'),
    ];
    const { markdown, blocks } = layoutPage(lines);
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.ok(tables[0].bbox[2] < 450, `the table stops before the text column: ${tables[0].bbox}`);
    assert.ok(!tables[0].text.includes('prose'), tables[0].text);
    assert.deepEqual(pipeRows(tables[0].text)[0], '| State | No. | Rate |');
    assert.equal(pipeRows(tables[0].text).length, 9);
    const text = blocks
      .filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join(' ');
    assert.ok(text.includes('right prose line 0 runs on') && text.includes('right prose line 11 runs on'), markdown);
    assert.ok(markdown.indexOf('Idaho') < markdown.indexOf('right prose line 0'), 'the table is read before the column beside it');
  });

  it('two columns of prose on shared baselines are never a table', () => {
    const lines = [...column(60, 100, 10, 'left'), ...column(520, 100, 10, 'right')];
    const { markdown, blocks } = layoutPage(lines);
    assert.ok(!markdown.includes('|'), markdown);
    assert.ok(blocks.every((b) => b.type !== 'table'));
  });
});

describe('cells', () => {
  it('a header row read as one piece stays inside the table as its first row, not a heading above it', () => {
    // One detector box over the three header cells, a little taller than the body rows.
    const lines = [
      line('Quarterly Sales by Region', 60, 20, 420, 30),
      line('Region Revenue (USD) Orders', 60, 70, 400, 24),
      ...tableRows(
        [
          ['North', '1,200,000', '340'],
          ['South', '950,000', '280'],
          ['West', '1,010,000', '301'],
        ],
        [60, 180, 330],
        100,
        26,
        20,
      ),
    ];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(!markdown.includes('Orders\n'), markdown);
    const table = blocks.find((b) => b.type === 'table');
    assert.ok(table, markdown);
    assert.deepEqual(pipeRows(table.text), [
      '| Region | Revenue (USD) | Orders |',
      '| North | 1,200,000 | 340 |',
      '| South | 950,000 | 280 |',
      '| West | 1,010,000 | 301 |',
    ]);
    assert.equal(blocks[0].text, 'Quarterly Sales by Region');
  });

  it('numbers read as one piece across two cells go back to their columns', () => {
    // OCR boxes one number per cell, except where blur ran two cells together: `0.27 0.33`.
    const rows = [
      ['Sample', 'Mean', 'Max', 'Min'],
      ['alpha', '0.12', '0.45', '0.02'],
      ['beta', '0.27', '0.33', '0.11'],
      ['gamma', '0.31', '0.52', '0.09'],
    ];
    const xs = [60, 220, 320, 420];
    const lines = tableRows(rows, xs, 100).filter((l) => !['0.27', '0.33'].includes(l.text));
    lines.push(line('0.27 0.33', 220, 144, 352, 16));
    const { blocks } = layoutPage(lines);
    const table = blocks.find((b) => b.type === 'table');
    assert.ok(table, JSON.stringify(blocks));
    assert.deepEqual(pipeRows(table.text), [
      '| Sample | Mean | Max | Min |',
      '| alpha | 0.12 | 0.45 | 0.02 |',
      '| beta | 0.27 | 0.33 | 0.11 |',
      '| gamma | 0.31 | 0.52 | 0.09 |',
    ]);
  });

  it('a header wrapped over two lines is one header row inside the table, under its group row', () => {
    const cols = [60, 300, 400, 540, 640];
    const lines = [
      line('Total', 330, 80, 380, 16),
      line('Male', 570, 80, 610, 16),
      ...tableRows([['Offense', 'Under 18', '18 years', 'Under 18', '18 years']], cols, 98),
      ...tableRows([['years', 'and over', 'years', 'and over']], cols.slice(1), 116),
      ...tableRows(
        [
          ['Robbery . . . . . . . .', '25.5', '76.6', '22.9', '67.1'],
          ['Arson . . . . . . . . .', '4.3', '5.5', '3.6', '4.4'],
          ['Fraud . . . . . . . . .', '1.2', '80.2', '0.8', '45.8'],
        ],
        cols,
        140,
      ),
    ];
    const { markdown, blocks } = layoutPage(lines);
    assert.ok(!markdown.includes('#'), `no heading above the table: ${markdown}`);
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.deepEqual(pipeRows(tables[0].text), [
      '|  | Total |  | Male |  |',
      '| Offense | Under 18 years | 18 years and over | Under 18 years | 18 years and over |',
      '| Robbery | 25.5 | 76.6 | 22.9 | 67.1 |',
      '| Arson | 4.3 | 5.5 | 3.6 | 4.4 |',
      '| Fraud | 1.2 | 80.2 | 0.8 | 45.8 |',
    ]);
  });
});

describe('prose and lists', () => {
  it('a list whose markers are pieces of their own is a list, not a table of markers and items', () => {
    const items = ['Federal eRulemaking Portal: go to the site.', 'Fax: 202–493–2251.', 'Mail: U.S. Department of Transportation.'];
    const steps = ['First step of the procedure', 'Second step of it', 'Third one'];
    const lines = [
      ...items.flatMap((t, i) => [line('•', 100, 200 + i * 22, 108, 18), line(t, 120, 200 + i * 22, 120 + t.length * 8, 18)]),
      ...steps.flatMap((t, i) => [line(`${i + 1}.`, 100, 300 + i * 22, 114, 18), line(t, 130, 300 + i * 22, 130 + t.length * 8, 18)]),
    ];
    const { markdown, blocks } = layoutPage(lines, { joinGap: 0.4 });
    assert.ok(!markdown.includes('|'), markdown);
    assert.ok(blocks.every((b) => b.type !== 'table'));
    const text = markdown.replace(/\s+/g, ' ');
    assert.ok(text.includes('• Federal eRulemaking Portal: go to the site. • Fax: 202–493–2251. • Mail:'), text);
    assert.ok(text.includes('1. First step of the procedure 2. Second step of it 3. Third one'), text);
  });

  it('a dash for zero in a table cell stays its own cell', () => {
    const lines = tableRows(
      [
        ['Male', '17.9', '–', '0.4'],
        ['Female', '19.0', '0.3', '–'],
        ['Total', '18.6', '–', '0.2'],
      ],
      [60, 200, 260, 300],
      100,
    );
    const { blocks } = layoutPage(lines, { joinGap: 0.4 });
    const table = blocks.find((b) => b.type === 'table');
    assert.ok(table);
    assert.deepEqual(pipeRows(table.text), ['| Male | 17.9 | – | 0.4 |', '| Female | 19.0 | 0.3 | – |', '| Total | 18.6 | – | 0.2 |']);
  });
});

describe('cells wrapped over lines', () => {
  // An expenditure listing: document number, date, a description of two lines, an amount. The
  // second line of a description runs on past every first line, into the gap before the amounts.
  const records = [
    ['DHAW0001', '05/03/2019', 'STAFF TRANSPORTATION', 'AIRFARE FOR E JOHNSON KANSAS CITY TO WASHINGTON DC', '920.68'],
    ['DHAW0002', '05/24/2019', 'STAFF TRANSPORTATION', 'AIRFARE FOR S COWING KANSAS CITY AND RETURN', '907.96'],
    ['DHAW0003', '05/03/2019', "SENATOR'S TRANSPORTATION", 'TRAIN FARE FOR SEN HAWLEY TO NEW YORK NY', '737.94'],
    ['DHAW0004', '04/03/2019', 'STAFF TRANSPORTATION', 'AIRFARE FOR K FORD WASHINGTON DC TO SAINT LOUIS', '903.90'],
  ];
  const listing = (): LayoutLine[] =>
    records.flatMap(([key, date, first, second, amount], r) => {
      const y = 100 + r * 40;
      return [
        line(key, 60, y, 160, 16),
        line(date, 200, y, 290, 16),
        line(first, 330, y, 330 + first.length * 8, 16),
        line(second, 330, y + 19, 330 + second.length * 8, 16),
        line(amount, 760, y, 810, 16),
      ];
    });

  it('the lines of a wrapped cell are one cell of their record, read before the amount beside its first line', () => {
    const { markdown, blocks } = layoutPage(listing(), { joinGap: -Infinity });
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.deepEqual(
      pipeRows(tables[0].text),
      records.map(([key, date, first, second, amount]) => `| ${key} | ${date} | ${first} ${second} | ${amount} |`),
    );
  });

  it('rows with a figure of their own are records, even under a blank key column', () => {
    // Payees listed under no document number, each with a title and an amount.
    const lines = [
      ...listing(),
      ...tableRows(
        [
          ['BAIN, J MATTHEW', 'DISTRICT DIRECTOR', '37,499.96'],
          ['SMITH, ALVARO R', 'LEGISLATIVE CORRESPONDENT', '21,000.00'],
          ['ENGLERT, PAYTON A', 'STAFF ASSISTANT', '25,499.96'],
        ],
        [200, 330, 760],
        260,
        19,
      ),
    ];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    const rows = blocks.filter((b) => b.type === 'table').flatMap((b) => pipeRows(b.text));
    for (const name of ['BAIN, J MATTHEW', 'SMITH, ALVARO R', 'ENGLERT, PAYTON A']) assert.equal(rows.filter((r) => r.includes(name)).length, 1, markdown);
    assert.ok(!rows.some((r) => r.includes('BAIN') && r.includes('SMITH')), markdown);
  });

  it('a page number set sideways up the page edge is no cell of the rows beside it', () => {
    // A landscape page's number, one tall box over three rows' height.
    const lines = [...listing(), line('B-1191', 900, 130, 920, 80)];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.ok(!tables[0].text.includes('B-1191'), tables[0].text);
    assert.deepEqual(
      pipeRows(tables[0].text).map((r) => r.split(' | ')[0]),
      records.map(([key]) => `| ${key}`),
      'the records keep their order',
    );
  });

  it('a sideways word the detector boxed letter by letter at the page edge is no cell either', () => {
    // "B-1191" read as three touching one-letter boxes beyond the amounts.
    const lines = [...listing(), line('I', 900, 138, 920, 18), line('6', 900, 156, 920, 18), line('T', 900, 174, 920, 18)];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.deepEqual(
      pipeRows(tables[0].text),
      records.map(([key, date, first, second, amount]) => `| ${key} | ${date} | ${first} ${second} | ${amount} |`),
    );
  });

  it("a court caption's parties and case number either side of a column of `)` are read block by block", () => {
    const lines = [
      line('EQUAL EMPLOYMENT OPPORTUNITY COMMISSION,', 60, 100, 420),
      ...['Plaintiff,', 'v.', '', 'HIRE DYNAMICS, LLC,', '', 'Defendant.'].flatMap((t, i) => [
        ...(t ? [line(t, i % 3 === 1 ? 160 : 60, 124 + i * 24, (i % 3 === 1 ? 160 : 60) + t.length * 9)] : []),
        line(')', 470, 124 + i * 24, 480),
      ]),
      line('CIVIL ACTION NO.', 540, 124, 700),
      line('JURY TRIAL DEMANDED', 540, 196, 730),
    ];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(
      blocks.every((b) => b.type !== 'table'),
      markdown,
    );
  });
});
