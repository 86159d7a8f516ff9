"""Link-level simulation without GNU Radio: BER sweeps (:mod:`.ber`), the PHY loopback (:mod:`.phy_loopback`)
and a codec's digital link for training and evaluation: the spec and the ``corrupt`` interface (:mod:`.link`),
the exact chain on the frame modem (:mod:`.exact_chain`), the measured error profile (:mod:`.error_profile`)
and its cache (:mod:`.profile_cache`)."""
