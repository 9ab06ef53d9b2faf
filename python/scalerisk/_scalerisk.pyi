"""Type stubs of the native module (python/src/lib.rs). Use the wrappers in scalerisk."""

from typing import Any, Callable, Dict, List, Optional, Tuple

__version__: str

class ScenarioError(ValueError):
    """A scenario field, override or argument is not allowed; ``field`` names it."""

    field: str

def run(
    kind: str,
    source: str,
    sets: List[str],
    backend: str = "cpu",
    progress: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Any]: ...
def advise(
    kind: str, source: str, sets: List[str], losses: List[Tuple[str, float, float, float]]
) -> str: ...
def peak_flops(
    kind: str,
    source: str,
    sets: List[str],
    losses: Optional[List[Tuple[str, float, float, float]]] = None,
) -> Optional[float]: ...
def flops_per_token(
    kind: str,
    source: str,
    sets: List[str],
    params: float,
    losses: Optional[List[Tuple[str, float, float, float]]] = None,
) -> float: ...
