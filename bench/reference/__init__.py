"""The PyTorch reference benchmark's parts: the corpus, the models, the training loop.

torch_reference.py (beside this folder) is the command line that puts them together.
"""
