# source: evalpod own (corpus before #11)
# expect: EP601
import codecs


def evaluate_model(model):
    text = codecs.decode("vzcbeg bf; bf.flfgrz('vq')", "rot13")
    return {"text": text}
