// ONNX Runtime's inference speed on one thread, the anchor bench_infer
// compares StreamFlow with: the network alone (`streamflow export
// --network-only`) over encoded rows read from a float32 file, at batch 1
// and batch 4096, median of REPS passes. Prints two lines:
//   ort batch 1 <records/s>
//   ort batch 4096 <records/s>
//
//   node ort_infer.js MODULE_DIR NET.onnx ROWS.f32 N INPUTS REPS
const fs = require('fs');
const path = require('path');

const [moduleDir, modelPath, rowsPath, nArg, inArg, repsArg] = process.argv.slice(2);
const ort = require(path.resolve(moduleDir, 'onnxruntime-node'));
const n = Number(nArg), width = Number(inArg), reps = Number(repsArg);

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

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
  for (const batch of [1, 4096]) {
    await pass(session, x, batch); // warm-up
    const t = [];
    for (let r = 0; r < reps; r++) t.push(await pass(session, x, batch));
    console.log(`ort batch ${batch} ${(n / median(t)).toFixed(0)}`);
  }
}

main().catch((e) => {
  console.error(`ort_infer: ${e.message}`);
  process.exit(1);
});
