"""Singer target writing any stream into a merged, typed, partitioned Parquet dataset."""

import os

# The system allocator hands a written batch's memory back at once; Arrow's default
# pools keep it cached, adding about a batch's worth to peak memory. Arrow reads this
# once, when pyarrow is first imported; a value set by the user wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
