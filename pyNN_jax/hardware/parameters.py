"""PyNN parameters (biological ms, mV) <-> the ranges a calibrated BrainScaleS-2 neuron reaches.

Time: the chip runs 1000 times faster than biology, so a biological millisecond is a hardware
microsecond: ``tau_m = 10 ms`` in a script is a 10 us membrane time constant on the chip. The
reachable ranges of the calibrated (CUBA and COBA) neurons are given here in biological ms.

Voltage: the calibration targets of the chip are dimensionless units of its capacitive memory
and column ADC (about mV-like after calibration). This module uses one linear map for every
potential::

    chip units = mV + VOLTAGE_OFFSET          (1 unit per mV, 0 mV = 140 units)

With it the chip's ranges become v_rest and v_reset -90..20 mV, v_thresh (and AdEx v_spike)
-90..80 mV, e_rev_E and e_rev_I -80..20 mV, which hold PyNN's default cells (v_rest -65 mV,
e_rev_I -70 or -80 mV, e_rev_E 0 mV). The chip's CUBA defaults v_rest 80, v_reset 70,
v_thresh 125 read as -60, -70 and -15 mV.

Capacitance, currents and weights are not chip ranges: only w / cm, i_offset / cm and
tau_m / cm enter the dynamics. Weights are integers (6-bit steps) times a scale (see
:mod:`.placement`): on the mock by default one per target population and sign, the
calibrated ``setup(weight_per_step=...)`` on the real system. ``cm`` is not sent to the real system (the
calibration fixes the membrane capacitance; ``weight_per_step`` is measured with it), so there
a script's cm does not scale the PSPs as it does on the mock. ``cm``, ``i_offset``, the AdEx
adaptation ``a``, ``b``, ``tau_w`` and ``delta_T`` are not range-checked (the material we
have publishes no calibrated ranges for them).
"""
import numpy as np

from pyNN import errors

ACCELERATION = 1000.0          # hardware time = biological time / 1000
CLOCK_PERIOD_HW_US = 0.008     # 125 MHz FPGA clock: 8 ns
CLOCK_PERIOD_MS = CLOCK_PERIOD_HW_US * ACCELERATION / 1000.0   # 0.008 ms biological
VOLTAGE_OFFSET = 140.0         # chip units at 0 mV

# calibration targets of the CUBA/COBA calibrated neurons, hardware us
TIME_CONSTANT_RANGES_HW_US = {"tau_m": (0.5, 60.0), "tau_syn_E": (0.3, 30.0),
                              "tau_syn_I": (0.3, 30.0), "tau_refrac": (0.04, 32.0)}
# chip units (dimensionless)
VOLTAGE_RANGES_CHIP = {"v_rest": (50.0, 160.0), "v_reset": (50.0, 160.0),
                       "v_thresh": (50.0, 220.0), "v_spike": (50.0, 220.0),
                       "e_rev_E": (60.0, 160.0), "e_rev_I": (60.0, 160.0)}


def to_hardware_us(ms):
    """Biological ms -> hardware us (numerically equal: the factor 1000 and the unit cancel)."""
    return np.asarray(ms, dtype=float) * (1000.0 / ACCELERATION)


def to_hardware_ms(ms):
    """Biological ms -> hardware ms (what pynn_brainscales takes for times)."""
    return np.asarray(ms, dtype=float) / ACCELERATION


def from_hardware_ms(hw_ms):
    """Hardware ms -> biological ms."""
    return np.asarray(hw_ms, dtype=float) * ACCELERATION


def to_chip_voltage(mv):
    """mV -> chip calibration units."""
    return np.asarray(mv, dtype=float) + VOLTAGE_OFFSET


def from_chip_voltage(units):
    """Chip calibration units -> mV."""
    return np.asarray(units, dtype=float) - VOLTAGE_OFFSET


def reachable_range(name):
    """(low, high) of a neuron parameter in PyNN units (ms or mV), or None if unchecked."""
    if name in TIME_CONSTANT_RANGES_HW_US:
        low, high = TIME_CONSTANT_RANGES_HW_US[name]
        return low * ACCELERATION / 1000.0, high * ACCELERATION / 1000.0
    if name in VOLTAGE_RANGES_CHIP:
        return tuple(float(from_chip_voltage(v)) for v in VOLTAGE_RANGES_CHIP[name])
    return None


def check_neuron_parameters(model_name, parameters):
    """Raise InvalidParameterValueError for a parameter the chip cannot reach.

    Parameters
    ----------
    model_name : name of the cell type, for the message
    parameters : {PyNN name: value or array} in PyNN units
    """
    for name, values in parameters.items():
        bounds = reachable_range(name)
        if bounds is None:
            continue
        values = np.asarray(values, dtype=float).reshape(-1)
        bad = (values < bounds[0] - 1e-9) | (values > bounds[1] + 1e-9) | np.isnan(values)
        if bad.any():
            value = float(values[bad][0])
            if name in TIME_CONSTANT_RANGES_HW_US:
                low, high = TIME_CONSTANT_RANGES_HW_US[name]
                unit, chip = "ms", f"{low:g}..{high:g} us of hardware time"
            else:
                low, high = VOLTAGE_RANGES_CHIP[name]
                unit, chip = "mV", (f"{low:g}..{high:g} chip units, mV + "
                                    f"{VOLTAGE_OFFSET:g}")
            raise errors.InvalidParameterValueError(
                f"{model_name}: {name} = {value:g} {unit} is out of reach of BrainScaleS-2; "
                f"the reachable range is {bounds[0]:g}..{bounds[1]:g} {unit} ({chip})")


def quantise_to_clock(times_ms):
    """Biological times (ms) truncated to the 8 ns hardware clock (0.008 ms biological),
    as the FPGA truncates spike times to cycles. Returns (times in ms, clock cycles)."""
    times = np.asarray(times_ms, dtype=float)
    cycles = np.floor(times / CLOCK_PERIOD_MS + 1e-6).astype(np.int64)
    return cycles * CLOCK_PERIOD_MS, cycles
