"""Train Latent-OFER: ``accelerate launch train.py --stage all --preset base --data synthfer --output_dir out``.

Every flag: ``python train.py --help``. The stages live in ``latent_ofer_hf/training/``.
"""

from latent_ofer_hf.training import main

if __name__ == "__main__":
    main()
