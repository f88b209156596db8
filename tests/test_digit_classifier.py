"""The digit classifier of the classifier scores, on the bundled 5,000-digit MNIST subset."""

import pytest
import torch

from gan_experiments.data.images import bundled_mnist
from gan_experiments.metrics.classifier import class_scores, frechet_feature_distance
from gan_experiments.metrics.digit_classifier import cached_classifier, data_key, default_cache_dir, predict


@pytest.fixture(scope="module")
def trained():
    """The classifier the runs use for the bundled subset (the session's cache folder, see conftest)."""
    from gan_experiments.config import resolve_config
    from gan_experiments.data import data_source

    config = resolve_config("stackelberg_fig6_mnist", [])[0]
    model, accuracy = data_source(config.data.name).from_config(config).classifier()
    return model, accuracy, default_cache_dir()


def test_classifier_reaches_95_percent_and_real_digits_score_above_8_5(trained):
    model, accuracy, _ = trained
    assert accuracy >= 0.95
    probabilities, features = predict(model, bundled_mnist("test")[0])
    scores = class_scores(probabilities)
    assert scores["inception_score"] >= 8.5 and scores["classes_covered"] == 10
    assert scores["total_variation"] < 0.05  # the held-out part is close to balanced
    train_features = predict(model, bundled_mnist("train")[0][:1000])[1]
    shuffled = features[torch.randperm(features.shape[0], generator=torch.Generator().manual_seed(0))]
    # real against real: far smaller than real against one class only
    ones = features[bundled_mnist("test")[1] == 1]
    assert frechet_feature_distance(train_features, shuffled) < 0.2 * frechet_feature_distance(train_features, ones)


def test_the_cache_is_reused_and_keyed_by_the_data(trained):
    model, accuracy, folder = trained
    again, accuracy_again = cached_classifier(
        "mnist-bundled", bundled_mnist("train"), bundled_mnist("test"), cache_dir=folder
    )
    assert accuracy_again == accuracy
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert len(list(folder.glob("mnist-bundled-*.pt"))) == 1 and len(list(folder.glob("mnist-bundled-*.json"))) == 1
    images, labels = bundled_mnist("train")
    assert data_key(images, labels) != data_key(images[:-1], labels[:-1])
