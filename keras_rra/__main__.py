import sys

from keras_rra.cli import main

sys.exit(main())
