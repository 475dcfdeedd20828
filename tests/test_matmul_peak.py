import pytest

from keras_rra.benchmarks.matmul_peak import matmul_peak


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_peak_is_a_positive_rate(dtype):
    gflops = matmul_peak(dtype, size=64, repeats=2)
    # 2 * 64**3 FLOPs in less than the time the call took: positive and
    # finite; a CPU core does well under 10 TFLOP/s.
    assert 0 < gflops < 10_000


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="Unknown dtype 'int8'.*bfloat16"):
        matmul_peak("int8")
    with pytest.raises(ValueError, match="size=0"):
        matmul_peak(size=0)
