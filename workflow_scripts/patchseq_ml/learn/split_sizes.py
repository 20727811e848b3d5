"""How many cells a class needs to take part in a split scheme (pure Python: the DAG helpers use it at parse time)."""


def min_cells_per_class(scheme: dict) -> int:
    """Fewest cells a class needs to appear in every split of ``scheme``: for K folds, at least K, and at least 2 left
    in every fold's training part for its stratified validation split (K = 2 needs 4); holdout: 5."""
    if scheme["kind"] != "kfold":
        return 5
    k = int(scheme["folds"])
    n = k
    while n - -(-n // k) < 2:  # cells left for training when the largest test share (ceil(n / k)) is taken
        n += 1
    return n
