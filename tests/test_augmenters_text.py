"""Shared text helpers: protected tokens, tokens with their spacing, Chinese segmentation."""
import pytest

from workbench.augment.text import join_like, join_tokens, protected_intact, protected_tokens, split_tokens, words


@pytest.mark.parametrize("text,expected", [
    ("128gb sd card", ["128gb"]),
    ("3/4 in. plywood sheet", ["3/4 in."]),
    ("logitech M185 wireless mouse", ["M185"]),
    ("LED bulb 60w", ["LED", "60w"]),
    ("1/2 in x 10 ft pipe", ["1/2 in", "10 ft"]),
    ("2x4 lumber 8 ft", ["2x4", "8 ft"]),
    ("USB-C cable 6 ft", ["USB-C", "6 ft"]),
    ("i7 laptop 4K", ["i7", "4K"]),
    ("手机128gb", ["128gb"]),
    ("5米 网线", ["5米"]),
    ("iPhone15手机壳", ["iPhone15"]),
    ("DEWALT 20V MAX DRILL KIT COMBO", ["20V"]),  # a query typed in capitals is not all codes
    ("cordless drill", []),
])
def test_protected_tokens(text, expected):
    assert protected_tokens(text) == expected


def test_split_tokens_keeps_protected_spans_whole_and_segments_chinese():
    tokens, protected, spaced = split_tokens("iPhone15手机壳 3/4 in. 透明")
    assert tokens == ["iPhone15", "手机", "壳", "3/4 in.", "透明"]
    assert protected == {"iPhone15", "3/4 in."}
    assert spaced == [False, False, False, True, True]
    assert join_like(tokens, spaced) == "iPhone15手机壳 3/4 in. 透明"


def test_character_level_tokens_keep_a_chinese_run_whole():
    assert split_tokens("无线蓝牙耳机 降噪", cjk_words=False).tokens == ["无线蓝牙耳机", "降噪"]


def test_join_like_closes_the_gap_of_a_deleted_word():
    tokens, _, spaced = split_tokens("无线蓝牙耳机 降噪")
    assert tokens == ["无线", "蓝牙", "耳机", "降噪"]
    assert join_like(["无线", "蓝牙", "", "降噪"], spaced) == "无线蓝牙 降噪"
    assert join_like(["", "蓝牙", "耳机", "降噪"], spaced) == "蓝牙耳机 降噪"


def test_join_tokens_puts_no_space_between_chinese_words():
    assert join_tokens(["华为", "手机", "128gb", "case"]) == "华为手机 128gb case"


def test_protected_intact_counts_each_token():
    assert protected_intact("M185 mouse 3 pack", "mouse M185 3 pack")
    assert not protected_intact("M185 mouse 3 pack", "M18 mouse 3 pack")
    assert not protected_intact("128gb 128gb", "128gb")


def test_words_lowercases_and_segments():
    assert words("Acme Cordless-Drill, 华为手机") == ["acme", "cordless", "drill", "华为", "手机"]
