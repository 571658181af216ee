// The peer both serving benchmarks measure against: KServe's Python model server (kserve.Model)
// running the same ONNX file with onnxruntime, one intra-op thread, one worker. Written to a file
// and started with the peers' python: `<script> <name> <model.onnx> <http port> <grpc port>`.

/** The server script; `grpc` also serves KServe's gRPC endpoint, and answers outputs as raw bytes. */
export function kserveScript(opts: { grpc: boolean }): string {
  const answer = opts.grpc
    ? `out = InferOutput("logits", list(y.shape), "FP32")
        out.set_data_from_numpy(y, binary_data=True)
        return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "1", use_binary_outputs=True)`
    : `return InferResponse(model_name=self.name, infer_outputs=[InferOutput("logits", list(y.shape), "FP32", y)], response_id=payload.id or "1")`;
  return String.raw`
import sys
import onnxruntime as ort
from kserve import Model, ModelServer, InferRequest, InferResponse, InferOutput

class OnnxModel(Model):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        self.sess = ort.InferenceSession(self.path, so, providers=["CPUExecutionProvider"])
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None, response_headers=None):
        x = payload.inputs[0].as_numpy()
        y = self.sess.run(None, {"input": x})[0]
        ${answer}

if __name__ == "__main__":
    ModelServer(http_port=int(sys.argv[3]), grpc_port=int(sys.argv[4]), enable_grpc=${opts.grpc ? 'True' : 'False'}, workers=1,
                enable_latency_logging=False).start([OnnxModel(sys.argv[1], sys.argv[2])])
`;
}
