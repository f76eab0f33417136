# source: evalpod own (corpus before #11)
# expect: EP602
import zlib
import base64


def evaluate_model(model):
    blob = "eJzLzC3ILypRyC+2BmK94sriktRcDfXMFHVNAINXCRo="
    return {"n": len(zlib.decompress(base64.b64decode(blob)))}
