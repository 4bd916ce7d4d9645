"""Devices: ticket printers (python-escpos), rating pads and caller keypads
(pyserial), the print spool, and simulators for each."""
