"""Reference forward of Hugging Face `LlamaForCausalLM` / `Qwen2ForCausalLM` in plain PyTorch, for logits parity checks.

A transcription, not the `transformers` package (which this machine cannot install), of:
  huggingface/transformers src/transformers/models/llama/modeling_llama.py @ 5dd4a63548857797727ae73eeb6a6e886ea02a3e
    (v4.49-era: `num_logits_to_keep` deprecated for 4.50; eager_attention_forward, getattr head_dim, mlp_bias)
  huggingface/transformers src/transformers/models/qwen2/modeling_qwen2.py @ 63bb723747035466e5339aea864b133f709b067d
    (v4.56/4.57-era: `past_key_value` deprecated for 4.58; q/k/v bias=True, o_proj bias=False, no sliding layers by default)
  huggingface/transformers src/transformers/modeling_rope_utils.py @ ef46806472a64b0013ed413781e3afed82bfa047
    (_compute_default_rope_parameters)
Followed as written for the inference path: eager attention, fp32 softmax, no KV cache, no padding, rope_type "default" only.
Parameter names are HF's, so a folder (config.json + model.safetensors) is read and written exactly as `from_pretrained` /
`save_pretrained` lay it out (a tied model has no lm_head.weight).

  python3 hf_reference.py init   --config cfg.json --out DIR [--seed 0]
  python3 hf_reference.py logits --model DIR --ids ids.json --out logits.f32
Logits files are raw little-endian float32, row-major [B, S, V].
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------- config


class Config:
    """The config.json keys the forward reads, with transformers' defaults for LlamaConfig / Qwen2Config."""

    def __init__(self, d):
        self.raw = d
        self.model_type = d.get("model_type", "llama")
        qwen2 = self.model_type == "qwen2"
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.num_key_value_heads = d.get("num_key_value_heads") or self.num_attention_heads
        # getattr(config, "head_dim", hidden // heads): LlamaConfig sets head_dim to that when config.json has none.
        self.head_dim = d.get("head_dim") or self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = d.get("rms_norm_eps", 1e-6)
        self.rope_theta = d.get("rope_theta", 10000.0)
        self.tie_word_embeddings = d.get("tie_word_embeddings", False)
        self.attention_bias = d.get("attention_bias", False)  # Llama only; Qwen2Attention ignores it
        self.mlp_bias = d.get("mlp_bias", False)  # Llama only; Qwen2MLP has no bias
        self.initializer_range = d.get("initializer_range", 0.02)
        self.qwen2 = qwen2
        assert d.get("hidden_act", "silu") == "silu", "only silu is transcribed"
        assert d.get("rope_scaling") is None, "only rope_type 'default' is transcribed"
        assert not d.get("use_sliding_window", False), "sliding-window layers are not transcribed"


# ----------------------------------------------------------------------------------------------------------------- model


class RMSNorm(nn.Module):  # LlamaRMSNorm / Qwen2RMSNorm
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class RotaryEmbedding(nn.Module):  # LlamaRotaryEmbedding with _compute_default_rope_parameters
    def __init__(self, config):
        super().__init__()
        dim = config.head_dim
        inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.attention_scaling = 1.0

    @torch.no_grad()
    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)  # autocast is off on CPU anyway
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def eager_attention_forward(module, query, key, value, attention_mask, scaling):
    key_states = repeat_kv(key, module.num_key_value_groups)
    value_states = repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask[:, :, :, : key_states.shape[-2]]
    attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_output = torch.matmul(attn_weights, value_states)
    return attn_output.transpose(1, 2).contiguous()


class Attention(nn.Module):  # LlamaAttention / Qwen2Attention
    def __init__(self, config):
        super().__init__()
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim ** -0.5
        qkv_bias = True if config.qwen2 else config.attention_bias
        o_bias = False if config.qwen2 else config.attention_bias
        h, nh, nkv = config.hidden_size, config.num_attention_heads, config.num_key_value_heads
        self.q_proj = nn.Linear(h, nh * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(h, nkv * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(h, nkv * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(nh * self.head_dim, h, bias=o_bias)

    def forward(self, hidden_states, position_embeddings, attention_mask):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        attn_output = eager_attention_forward(self, query_states, key_states, value_states, attention_mask, self.scaling)
        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        return self.o_proj(attn_output)


class MLP(nn.Module):  # LlamaMLP / Qwen2MLP
    def __init__(self, config):
        super().__init__()
        bias = False if config.qwen2 else config.mlp_bias
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, hidden_states, attention_mask, position_embeddings):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, position_embeddings, attention_mask)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


def causal_mask(sequence_length, dtype, batch_size):
    """_prepare_4d_causal_attention_mask_with_cache_position with no cache and no padding: additive [B, 1, S, S]."""
    min_dtype = torch.finfo(dtype).min
    cache_position = torch.arange(sequence_length)
    mask = torch.full((sequence_length, sequence_length), fill_value=min_dtype, dtype=dtype)
    if sequence_length != 1:
        mask = torch.triu(mask, diagonal=1)
    mask *= torch.arange(sequence_length) > cache_position.reshape(-1, 1)
    return mask[None, None, :, :].expand(batch_size, 1, -1, -1)


class Model(nn.Module):  # LlamaModel / Qwen2Model
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)

    def forward(self, input_ids):
        inputs_embeds = self.embed_tokens(input_ids)
        position_ids = torch.arange(inputs_embeds.shape[1]).unsqueeze(0)
        mask = causal_mask(inputs_embeds.shape[1], inputs_embeds.dtype, inputs_embeds.shape[0])
        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        for layer in self.layers:
            hidden_states = layer(hidden_states, mask, position_embeddings)
        return self.norm(hidden_states)


class ForCausalLM(nn.Module):  # LlamaForCausalLM / Qwen2ForCausalLM
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = Model(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:  # PreTrainedModel.tie_weights: the head *is* the embedding
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids):
        return self.lm_head(self.model(input_ids))

    def hf_state_dict(self):
        """What save_pretrained writes: every parameter once; a tied lm_head.weight is left out."""
        sd = {k: v for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            del sd["lm_head.weight"]
        return sd


# ------------------------------------------------------------------------------------------------------------ safetensors

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """{name: float32 torch tensor}. Header: u64 LE length, JSON {name: {dtype, shape, data_offsets}}; data follows."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start : base + end]
        if info["dtype"] == "BF16":  # the top 16 bits of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    """float32 tensors, as `safetensors` writes them: header padded with spaces to 8 bytes, data in header order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------------------------------------------------------------ folder


def load(folder):
    """from_pretrained, strictly: every parameter present with its shape; nothing unexpected but a tied lm_head."""
    with open(os.path.join(folder, "config.json")) as f:
        config = Config(json.load(f))
    model = ForCausalLM(config)
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    expected = model.hf_state_dict()
    missing = set(expected) - set(weights)
    unexpected = set(weights) - set(expected) - ({"lm_head.weight"} if config.tie_word_embeddings else set())
    assert not missing and not unexpected, f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
    with torch.no_grad():
        for name, p in expected.items():
            assert tuple(weights[name].shape) == tuple(p.shape), f"{name}: {tuple(weights[name].shape)} vs {tuple(p.shape)}"
            p.copy_(weights[name])
    return model.eval()


def init(config_path, out, seed):
    """A random folder: every weight and bias ~ N(0, initializer_range), norm weights 1 + N(0, initializer_range).
    (HF's _init_weights zeroes biases and leaves norms at one; random ones make the bias and norm-scale paths count.)"""
    with open(config_path) as f:
        raw = json.load(f)
    config = Config(raw)
    torch.manual_seed(seed)
    model = ForCausalLM(config)
    std = config.initializer_range
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(0.0, std)
            if name.endswith("norm.weight"):
                p.add_(1.0)
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), model.hf_state_dict())
    raw = dict(raw, torch_dtype="float32")
    raw.setdefault("architectures", ["Qwen2ForCausalLM" if config.qwen2 else "LlamaForCausalLM"])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(raw, f, indent=2)


def logits(folder, ids_path, out):
    model = load(folder)
    with open(ids_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    with torch.no_grad():
        result = model(ids)
    result.numpy().astype("<f4").tofile(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("init")
    a.add_argument("--config", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--seed", type=int, default=0)
    b = sub.add_parser("logits")
    b.add_argument("--model", required=True)
    b.add_argument("--ids", required=True)
    b.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "init":
        init(args.config, args.out, args.seed)
    else:
        logits(args.model, args.ids, args.out)


if __name__ == "__main__":
    main()
