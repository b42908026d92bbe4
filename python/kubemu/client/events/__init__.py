"""Events as client-go's recorder writes them: correlated (counted, aggregated, spam-filtered)
core/v1 Events about objects, written in batches."""

from kubemu.client.events.correlator import Correlation, EventCorrelator, event_name
from kubemu.client.events.recorder import EventRecorder, object_reference

__all__ = ["Correlation", "EventCorrelator", "EventRecorder", "event_name", "object_reference"]
