"""How one notebook runs under grading: nbgrader's Execute, with other kernels and a budget.

- ``kernels``: ``WarmExecute``, whose kernels are forks of a warm template process
  (``_template``, a process of its own) that imported torch and TransformerLens.
- ``budget``: ``BudgetedExecute``, the time a whole notebook may take.
"""
