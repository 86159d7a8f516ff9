"""IQ captures: SigMF recordings of the testbed's streams (:mod:`.recording`), contract in DESIGN.md
("Captures")."""
from .recording import (DATATYPE, NAMESPACE, Recording, SigmfRecorder, annotate_frames, archive_recording,
                        load_recording)

__all__ = ["DATATYPE", "NAMESPACE", "Recording", "SigmfRecorder", "annotate_frames", "archive_recording",
           "load_recording"]
