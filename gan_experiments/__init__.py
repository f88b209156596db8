"""gan_experiments: Stackelberg GAN, SGAN and proximal training on top of cgd_optim.

Filled by the frameworks issue; importable (and empty) until then.
"""
