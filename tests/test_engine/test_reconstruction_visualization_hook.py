"""ReconstructionVisualizationHook with models of one or two modalities."""
from types import SimpleNamespace
from unittest import mock

from projects.pimae.pimae.engine.hooks.reconstruction_visualization_hook \
    import ReconstructionVisualizationHook


def _runner(modalities):
    model = mock.Mock()
    model.backbone = SimpleNamespace(modalities=modalities)
    model.test_step.side_effect = AssertionError('pictures were drawn')
    return SimpleNamespace(
        model=model, logger=mock.Mock(), iter=0, max_iters=1,
        visualizer=mock.Mock())


def test_one_modality_model_draws_nothing_and_says_so_once():
    hook = ReconstructionVisualizationHook(interval=1)
    runner = _runner(('points', ))
    hook.before_train(runner)
    runner.logger.info.assert_called_once()
    assert 'points only' in runner.logger.info.call_args[0][0]
    for _ in range(3):  # every iteration would draw at interval 1
        hook.after_train_iter(runner, 0, data_batch=dict(inputs={}))
    runner.model.test_step.assert_not_called()
    runner.visualizer.add_image.assert_not_called()


def test_paired_model_is_drawn():
    hook = ReconstructionVisualizationHook(interval=1)
    runner = _runner(('points', 'images'))
    hook.before_train(runner)
    runner.logger.info.assert_not_called()
    try:
        hook.after_train_iter(runner, 0, data_batch=dict(inputs={}))
    except AssertionError as err:
        assert 'pictures were drawn' in str(err)
    runner.model.test_step.assert_called_once()
