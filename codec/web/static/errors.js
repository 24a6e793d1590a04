// The one error type of the browser decoder: bad, damaged or unsupported data.
// `kind` mirrors the Python CodecError subclasses (codec/errors.py): truncated, not-a-codec-file,
// wrong-kind, unsupported-version, checksum, limit, corrupt.
export class CodecError extends Error {
  constructor(message, kind = "corrupt") {
    super(message);
    this.name = "CodecError";
    this.kind = kind;
  }
}

export function corrupt(message) {
  return new CodecError(message, "corrupt");
}
