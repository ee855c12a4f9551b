from reports.suppression import is_suppressed, suppressed_units


def test_small_units_are_suppressed():
    assert is_suppressed(4, 4, 5, filtered=False)
    assert not is_suppressed(5, 5, 5, filtered=False)


def test_complement_rule_for_filtered_views():
    assert not is_suppressed(20, 40, 5, filtered=True)
    assert is_suppressed(20, 24, 5, filtered=True)  # the 4 outside the filter would be revealed
    assert is_suppressed(20, 20, 5, filtered=True)  # everyone matches: the filter itself reveals it


def test_complementary_suppression_protects_the_total():
    # A lone hidden unit of 3 would be learned as total minus the shown ones.
    assert suppressed_units({"a": 3, "b": 50, "c": 9}, {"a": 3, "b": 50, "c": 9}, 5, False) == {"a", "c"}
    # Hidden units already adding up to the minimum need no partner.
    assert suppressed_units({"a": 3, "b": 2, "c": 9}, {"a": 3, "b": 2, "c": 9}, 5, False) == {"a", "b"}
    assert suppressed_units({"a": 30, "b": 50}, {"a": 30, "b": 50}, 5, False) == set()


def test_a_small_cell_of_the_filtered_cross_table_hides_the_view():
    # role=patient&sex=female (10) is big, its rest (11) too; but patient-and-male is 1 person,
    # who would be role=patient (11) minus role=patient&sex=female (10).
    assert is_suppressed(10, 21, 5, filtered=True, cells=[10, 1, 10])
    assert not is_suppressed(10, 21, 5, filtered=True, cells=[10, 5, 6])
