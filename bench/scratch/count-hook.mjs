import { Store } from '../../dist/src/store/rocks.js';
const orig = Store.prototype.write;
const st = { writes: 0, puts: 0, keyBytes: 0, valueBytes: 0, ms: 0 };
globalThis.__writeStats = st;
Store.prototype.write = async function (puts) {
  st.writes++; st.puts += puts.length;
  for (const p of puts) { st.keyBytes += p.key.length; st.valueBytes += p.value.length; }
  const t = performance.now();
  await orig.call(this, puts);
  st.ms += performance.now() - t;
};
process.on('exit', () => console.log('writes', st.writes, 'puts', st.puts, 'avg key', (st.keyBytes/st.puts).toFixed(1), 'avg val', (st.valueBytes/st.puts).toFixed(1), 'ms in write', st.ms.toFixed(0)));
