#!/bin/bash
# The same 8-trial Optuna search with and without median pruning (sampler seed 1234; its first 10
# trials are random, so both sweeps draw the same 8 configurations): wall seconds, best value and
# trials pruned, as in docs/sweeps_and_scaling.md. Run from a scratch folder:
#   OMP_NUM_THREADS=1 DRAW_CPU_PROCESSES=1 bash benchmarks/search_pruning.sh
set -euo pipefail
for pruner in none median; do
  start=$(date +%s.%N)
  python -m draw_lightning.search search.study_name=$pruner search.pruner.name=$pruner search.n_trials=8 \
    'search.space.model.net.num_steps.choices=[2,3,4]' 'search.space.model.net.z_dim.choices=[2,4,8]' \
    data.max_per_category=1000 data.batch_size=32 model.net.enc_hidden=16 model.net.dec_hidden=16 \
    trainer.max_epochs=6 trainer.limit_train_batches=10 trainer.limit_val_batches=2 \
    callbacks.tqdm_progress_bar.refresh_rate=0 logger=csv test=false > search_$pruner.log 2>&1
  echo "pruner=$pruner wall_s=$(python -c "print(round($(date +%s.%N) - $start, 1))")"
  grep -E "^(study|best trial)" search_$pruner.log
done
