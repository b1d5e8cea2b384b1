"""The interrupt flag of ComfyUI's comfy.model_management (the part a stand-in needs)."""
import threading


class InterruptProcessingException(Exception):
    pass


_interrupt_mutex = threading.RLock()
_interrupt_processing = False


def interrupt_current_processing(value=True):
    global _interrupt_processing
    with _interrupt_mutex:
        _interrupt_processing = value


def processing_interrupted():
    with _interrupt_mutex:
        return _interrupt_processing


def throw_exception_if_processing_interrupted():
    global _interrupt_processing
    with _interrupt_mutex:
        if _interrupt_processing:
            _interrupt_processing = False
            raise InterruptProcessingException()
