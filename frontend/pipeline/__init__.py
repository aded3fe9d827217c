"""Pipelines (spec 13): the step loop of ``BasePipeline``, dataset pipelines and the
reinforcement-learning ``EnvironmentPipeline``, with action selection in
:mod:`snnc.pipeline.action`."""
from snnc.pipeline import action
from snnc.pipeline.base_pipeline import BasePipeline
from snnc.pipeline.dataloader_pipeline import DataLoaderPipeline, TorchVisionDatasetPipeline
from snnc.pipeline.environment_pipeline import EnvironmentPipeline

__all__ = ["EnvironmentPipeline", "BasePipeline", "DataLoaderPipeline", "TorchVisionDatasetPipeline",
           "action"]
