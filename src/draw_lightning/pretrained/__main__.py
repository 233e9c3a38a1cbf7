"""``python -m draw_lightning.pretrained export <ckpt> <name> [--metadata key=value ...]``."""

from draw_lightning.pretrained import main

if __name__ == "__main__":
    main()
