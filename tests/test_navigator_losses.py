import numpy as np

from keras_rra.layers.part_navigator import anchor_grid
from keras_rra.models.navigator_losses import part_ranking_loss


def test_part_ranking_trains_the_weights_towards_the_chosen_box_of_most_evidence():
    anchors = anchor_grid((4, 4), (0.25,))
    evidence = np.zeros((2, len(anchors)), "float32")
    evidence[0, 5], evidence[0, 10] = 1.0, 3.0
    evidence[1, 5], evidence[1, 10] = 2.0, -1.0
    # Image 0 chose candidates 5, 10, 0; image 1 chose 10, 5, 0.
    chosen = np.stack([anchors[[5, 10, 0]], anchors[[10, 5, 0]]])
    weights = np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]], "float32")
    loss = float(part_ranking_loss(evidence, anchors, chosen, weights))
    # The best chosen box is the second in both images.
    np.testing.assert_allclose(loss, -np.log([0.5, 0.6]).mean(), rtol=1e-5)


def test_coinciding_candidates_count_as_one_box():
    # Boxes of half the side on an 8 × 8 grid: the first three rows'
    # centres are all shifted to 0.25, so their candidates coincide.
    anchors = anchor_grid((8, 8), (0.5,))
    evidence = np.full((1, len(anchors)), 0.5, "float32")
    evidence[0, [0, 8]] = 2.0
    chosen = anchors[[63, 8]][None]
    np.testing.assert_array_equal(anchors[0], anchors[8])
    weights = np.array([[0.75, 0.25]], "float32")
    loss = float(part_ranking_loss(evidence, anchors, chosen, weights))
    np.testing.assert_allclose(loss, -np.log(0.25), rtol=1e-5)
