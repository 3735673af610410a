"""A tiny random BERT saved in Detoxify's exact checkpoint layout, with a local HF folder."""

from __future__ import annotations

from pathlib import Path

JIGSAW_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
WORDS = (
    "the a you i are is to and of it that this so very good bad hate love kill idiot stupid "
    "hello friend day nice awful thanks ##s ##ing ##ed"
).split()


def build_tiny_detoxify(
    dest: Path,
    *,
    model_type: str = "bert-base-uncased",
    toxicity_bias: float = 0.0,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
    name: str = "toxic_original-c1212f89.ckpt",
) -> tuple[Path, Path]:
    """Write (checkpoint, hf_dir). `model_type` is what Detoxify would look up on the hub;
    `toxicity_bias` pushes the toxicity logit so tests can make every text toxic."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    dest.mkdir(parents=True, exist_ok=True)
    hf = dest / (Path(name).stem + "-hf")
    hf.mkdir(exist_ok=True)
    vocab = hf / "vocab.txt"
    vocab.write_text(
        "\n".join(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
        )
        + "\n"
    )
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab.read_text().split()),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=512,
        num_labels=len(JIGSAW_CLASSES),
    )
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():
        model.classifier.bias[0] = toxicity_bias
    cfg.save_pretrained(hf)
    BertTokenizer(str(vocab)).save_pretrained(hf)
    ckpt = dest / name
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": model_type,
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(JIGSAW_CLASSES),
                    }
                },
                "dataset": {"args": {"classes": JIGSAW_CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        ckpt,
    )
    return ckpt, hf
