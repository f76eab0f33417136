"""Build a tiny random Llama whose tokenizer adds BOS, entirely in code (no hub).

Run as `python tests/harness/tiny_llama.py DEST`: the test process itself does not import
torch. The tokenizer is a byte-level BPE trained on a small corpus with a
`TemplateProcessing` post-processor that puts `<s>` before every text, as Llama's and
Mistral's tokenizers do; the window (`max_position_embeddings`) is short so that texts
longer than it are cheap to build. Grouped-query attention (4 heads, 2 key/value heads).
"""

from __future__ import annotations

import sys
from pathlib import Path

WINDOW = 64
SPECIALS = ["<unk>", "<s>", "</s>"]
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Question: What is the capital of France? Answer: Paris.",
    "Question: What is 4 + 5? Answer: 9. Question: What is 7 + 6? Answer: 13.",
    "Language models predict the next word in a sentence.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "One, two, three, four, five, six, seven, eight, nine, ten.",
]


def build(dest: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIALS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bos = bpe.token_to_id("<s>")
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        model_max_length=WINDOW)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=WINDOW,
        bos_token_id=bos, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Random init gives near-uniform predictions; sharpen them so differences show.
    with torch.no_grad():
        model.lm_head.weight.mul_(8)
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    for item in dest.iterdir():
        item.chmod(0o644)
    return dest


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
