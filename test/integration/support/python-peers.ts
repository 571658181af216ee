// Python snippets the peer-client tests share (tritonclient over HTTP and gRPC).

/**
 * Defines, in a Python script: `tsess` (ONNX Runtime on `types_file`, the all-types model), `feeds`
 * (a [2,2] numpy array per input, every V2 datatype at its extremes), `dtypes` (V2 names) and
 * `ref` (the in-process outputs for those feeds, by output name).
 */
export const ALL_TYPES_FEEDS_PY = String.raw`tsess = ort.InferenceSession(types_file)
feeds = {
    "in_bool": np.array([[True, False], [False, True]]),
    "in_u8": np.array([[0, 255], [1, 2]], dtype=np.uint8),
    "in_u16": np.array([[0, 65535], [1, 2]], dtype=np.uint16),
    "in_u32": np.array([[0, 4294967295], [1, 2]], dtype=np.uint32),
    "in_u64": np.array([[0, 18446744073709551615], [9007199254740993, 2]], dtype=np.uint64),
    "in_i8": np.array([[-128, 127], [1, 2]], dtype=np.int8),
    "in_i16": np.array([[-32768, 32767], [1, 2]], dtype=np.int16),
    "in_i32": np.array([[-2147483648, 2147483647], [1, 2]], dtype=np.int32),
    "in_i64": np.array([[-9223372036854775808, 9223372036854775807], [-9007199254740993, 2]], dtype=np.int64),
    "in_f16": np.array([[1.5, -2], [65504, 0.1]], dtype=np.float16),
    "in_f32": np.array([[1.5, -0.1], [3e38, 1e-45]], dtype=np.float32),
    "in_f64": np.array([[0.1, -1e308], [5e-324, 123.456]], dtype=np.float64),
    "in_str": np.array([[b"a", "h\u00e9llo".encode()], [b"", "\u65e5\u672c".encode()]], dtype=np.object_),
}
dtypes = {"in_bool": "BOOL", "in_u8": "UINT8", "in_u16": "UINT16", "in_u32": "UINT32", "in_u64": "UINT64", "in_i8": "INT8",
          "in_i16": "INT16", "in_i32": "INT32", "in_i64": "INT64", "in_f16": "FP16", "in_f32": "FP32", "in_f64": "FP64", "in_str": "BYTES"}
ref = dict(zip([o.name for o in tsess.get_outputs()], tsess.run(None, {k: (np.array([[x.decode() for x in row] for row in v]) if k == "in_str" else v) for k, v in feeds.items()})))
`;
