// Runs an ONNX model with ONNX Runtime (the onnxruntime-node package) over
// the rows of a CSV file without a header and prints one JSON line per row:
// {"probabilities":[...],"label":"..."}. Graph input i takes column i; the
// columns listed in STRING_COLUMNS (0-based, comma-separated) are fed as
// strings, the others as float32 (an empty field is NaN, a missing value).
//
//   node ort_predict.js MODULE_DIR MODEL.onnx ROWS.csv STRING_COLUMNS
const fs = require('fs');
const path = require('path');

const [moduleDir, modelPath, rowsPath, stringColumns] = process.argv.slice(2);
const ort = require(path.resolve(moduleDir, 'onnxruntime-node'));
const BATCH = 4096;

async function main() {
  const session = await ort.InferenceSession.create(modelPath);
  const strings = new Set((stringColumns || '').split(',').filter((c) => c !== '').map(Number));
  const types = session.inputNames.map((name, i) => (strings.has(i) ? 'string' : 'float32'));
  const rows = fs.readFileSync(rowsPath, 'utf8').split(/\r?\n/).filter((l) => l.length > 0)
    .map((l) => l.split(','));
  const out = [];
  for (let start = 0; start < rows.length; start += BATCH) {
    const batch = rows.slice(start, start + BATCH);
    const feeds = {};
    session.inputNames.forEach((name, i) => {
      if (types[i] === 'string') {
        feeds[name] = new ort.Tensor('string', batch.map((r) => r[i]), [batch.length, 1]);
      } else {
        const v = Float32Array.from(batch.map((r) => (r[i] === '' ? NaN : Number(r[i]))));
        feeds[name] = new ort.Tensor('float32', v, [batch.length, 1]);
      }
    });
    const result = await session.run(feeds);
    const probs = result.probabilities.data;
    const k = result.probabilities.dims[1];
    for (let r = 0; r < batch.length; r++) {
      out.push(JSON.stringify({
        probabilities: Array.from(probs.slice(r * k, (r + 1) * k)),
        label: result.label.data[r],
      }));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

// `| head` closing the pipe early is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main().catch((e) => {
  console.error(`ort_predict: ${e.message}`);
  process.exit(1);
});
