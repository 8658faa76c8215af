"""The network: input planes, the residual tower and its heads, checkpoints, and
``Policy``, the one seam through which everything above asks the network.

``features`` is torch-free (data workers encode without it); the rest loads torch.
"""
