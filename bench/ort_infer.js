// ONNX Runtime's inference speed on one thread, the anchor bench_infer
// compares StreamFlow with: the network alone (`streamflow export
// --network-only`) over encoded rows read from a float32 file. Prints
// "ready", then for every line "BATCH" on stdin runs one pass over all N
// rows in batches of BATCH and prints its seconds, so that the caller can
// alternate its own passes with these in one run.
//
//   node ort_infer.js MODULE_DIR NET.onnx ROWS.f32 N INPUTS
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const [moduleDir, modelPath, rowsPath, nArg, inArg] = process.argv.slice(2);
const ort = require(path.resolve(moduleDir, 'onnxruntime-node'));
const n = Number(nArg), width = Number(inArg);

async function pass(session, x, batch) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const input = new ort.Tensor('float32', x.subarray(i * width, (i + b) * width), [b, width]);
    await session.run({ encoded: input }, ['probabilities']);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
                 graphOptimizationLevel: 'all' };
  const session = await ort.InferenceSession.create(modelPath, opts);
  const buf = fs.readFileSync(rowsPath);
  const x = new Float32Array(buf.buffer, buf.byteOffset, n * width);
  console.log('ready');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const batch = Number(line.trim());
    if (!(batch >= 1)) continue;
    console.log((await pass(session, x, batch)).toFixed(6));
  }
}

main().catch((e) => {
  console.error(`ort_infer: ${e.message}`);
  process.exit(1);
});
