"""MediaPipe Tasks classifiers on a file, as an app calls them (tests'
helper): strings go to `TextClassifier`, uint8 RGB images to
`ImageClassifier`."""

import numpy as np


def classifier_scores(path, inputs, labels):
    """`(len(inputs), len(labels))` scores in label order, each category
    checked to carry its label's name (NaN where MediaPipe gave none)."""
    import mediapipe
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python import vision

    images = not isinstance(inputs[0], str)
    task = vision.ImageClassifier if images else text.TextClassifier
    options = (vision.ImageClassifierOptions if images else
               text.TextClassifierOptions)(
        base_options=BaseOptions(model_asset_path=str(path)),
        max_results=len(labels),
    )  # fmt: skip
    scores = np.full((len(inputs), len(labels)), np.nan)
    with task.create_from_options(options) as classifier:
        for row, given in enumerate(inputs):
            if images:
                given = mediapipe.Image(
                    image_format=mediapipe.ImageFormat.SRGB,
                    data=np.ascontiguousarray(given),
                )
            (head,) = classifier.classify(given).classifications
            for category in head.categories:
                assert category.category_name == labels[category.index]
                scores[row, category.index] = category.score
    return scores
