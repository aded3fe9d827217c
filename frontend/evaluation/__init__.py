"""BindsNET's ``evaluation``: assigning labels to neurons and classifying spike records."""
from snnc.evaluation.evaluation import (all_activity, assign_labels, logreg_fit, logreg_predict, ngram,
                                        proportion_weighting, update_ngram_scores)

__all__ = ["all_activity", "assign_labels", "logreg_fit", "logreg_predict", "ngram", "proportion_weighting",
           "update_ngram_scores"]
