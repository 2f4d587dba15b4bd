import { renderAttrs } from '../../dist/src/query/reader.js';
const defs = new Map([['price', { valueType: 'double', cardinality: 'one', unique: false }]]);
const maps = Array.from({ length: 50000 }, (_, i) => new Map([['name', [{ t: 's', v: 'n' + i }]], ['email', [{ t: 's', v: 'e' + i }]], ['tier', [{ t: 's', v: 'gold' }]]]));
for (let k = 0; k < 5; k++) { const t = performance.now(); let n = 0; for (let r = 0; r < 4; r++) for (const m of maps) n += Object.keys(renderAttrs(m, defs)).length; console.log(((performance.now() - t) * 1000 / 200000).toFixed(3), 'µs/op'); }
