"""The training cap applies to the original samples; augmented rows come in the share the user
chose (issue 13: a 300-sample 'augmented' job held about 12 augmented rows)."""
import re

import pandas as pd
import pytest

from workbench.errors import BadInput

from workbench.train.config import TrainConfig
from workbench.train.data import cap_train


def _frame(originals: int, augmented: int) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": range(originals + augmented),
                         "source": ["sample"] * originals + ["augmented:1"] * augmented})


def test_the_cap_keeps_originals_only_and_every_augmented_row_by_default():
    kept = cap_train(_frame(1000, 400), max_train=300, seed=0)
    assert (kept["source"] == "sample").sum() == 300
    assert (kept["source"] == "augmented:1").sum() == 400


def test_the_augmented_share_is_counted_against_the_originals_kept():
    kept = cap_train(_frame(1000, 400), max_train=300, seed=0, augmented_share=0.5)
    assert kept["source"].value_counts().to_dict() == {"sample": 300, "augmented:1": 150}
    assert kept.equals(cap_train(_frame(1000, 400), max_train=300, seed=0, augmented_share=0.5))  # seeded


def test_no_cap_and_no_share_is_the_whole_frame():
    frame = _frame(50, 20)
    assert cap_train(frame, 0, 0).equals(frame)


def test_the_share_is_a_config_field_that_must_not_be_negative():
    assert TrainConfig().augmented_share == 0.0
    with pytest.raises(BadInput, match=re.escape("training config field 'augmented_share': must be 0 or more, got -1")):
        TrainConfig(augmented_share=-1).validate()
