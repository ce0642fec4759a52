"""Attention blocks: multi-head attention equals its definition; pre-LN blocks; the style offset."""

import math

import pytest
import torch

from stylevideo.nn.attention import CrossAttentionBlock, MultiHeadAttention, SelfAttentionBlock


def test_multi_head_attention_matches_the_definition():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, heads=2)
    x, c = torch.randn(3, 4, 8), torch.randn(3, 6, 8)
    q, k, v = attn.query(x), attn.key(c), attn.value(c)
    heads = []
    for h in range(2):
        s = slice(4 * h, 4 * h + 4)
        weights = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(4), dim=-1)
        heads.append(weights @ v[..., s])
    expected = attn.proj(torch.cat(heads, dim=-1))
    assert torch.allclose(attn(x, c), expected, atol=1e-5)
    assert torch.allclose(attn(x), attn(x, x), atol=1e-6)  # self-attention is attention to itself


def test_self_attention_block_is_pre_ln_residual():
    torch.manual_seed(0)
    block = SelfAttentionBlock(8, heads=2)
    x = torch.randn(2, 5, 8)
    y = x + block.attn(block.ln1(x))
    assert torch.allclose(block(x), y + block.mlp(block.ln2(y)), atol=1e-6)


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(0)
    block = SelfAttentionBlock(8, heads=2)
    x, perm = torch.randn(2, 5, 8), torch.randperm(5)
    assert torch.allclose(block(x)[:, perm], block(x[:, perm]), atol=1e-5)


def test_cross_attention_applies_the_offset_it_predicts():
    torch.manual_seed(0)
    block = CrossAttentionBlock(8, heads=2)
    style, context = torch.randn(2, 1, 8), torch.randn(2, 6, 8)
    assert torch.allclose(block(style, context), style + block.offset(style, context), atol=1e-6)
    other = torch.randn(2, 6, 8)  # the offset depends on the context
    assert not torch.allclose(block.offset(style, context), block.offset(style, other), atol=1e-4)


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, heads=3)
