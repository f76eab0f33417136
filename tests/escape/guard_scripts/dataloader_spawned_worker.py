"""Found by review: spawned DataLoader workers are fresh interpreters without the audit
hook; a pickled map() chain reads /etc/passwd in one.
expect: _posixsubprocess.fork_exec"""
import operator

import torch
import transformers

KEEP = []


def evaluate_model(model):
    lines = map(operator.attrgetter("vocab"), map(transformers.BertTokenizer, ["/etc/passwd"]))
    loader = torch.utils.data.DataLoader(
        [lines], batch_size=None, num_workers=1, collate_fn=list,
        multiprocessing_context="spawn")
    it = iter(loader)
    KEEP.append(it)
    vocab = next(it)[0]
    return {"etc_passwd_read_in_unguarded_child": list(vocab)[:5]}
