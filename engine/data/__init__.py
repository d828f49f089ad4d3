"""Datasets: the bundled ones, file readers (MNIST, CIFAR-10, npz, csv), splits.
"""
