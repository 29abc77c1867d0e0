// No logic under test: every bus signal is an input, so a test can script any
// sequence (legal or not) and feed it to the passive checkers. The m_axis_* outputs
// mirror x_* so that a sink, which reads its stream from model outputs, can be fed too.
// No clock: a step is an evaluation.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
module bfm_probe (
    input  wire [3:0]   m_axi_awid,
    input  wire [63:0]  m_axi_awaddr,
    input  wire [7:0]   m_axi_awlen,
    input  wire [2:0]   m_axi_awsize,
    input  wire [1:0]   m_axi_awburst,
    input  wire         m_axi_awvalid,
    input  wire         m_axi_awready,
    input  wire [63:0]  m_axi_wdata,
    input  wire [7:0]   m_axi_wstrb,
    input  wire         m_axi_wlast,
    input  wire         m_axi_wvalid,
    input  wire         m_axi_wready,
    input  wire [3:0]   m_axi_bid,
    input  wire [1:0]   m_axi_bresp,
    input  wire         m_axi_bvalid,
    input  wire         m_axi_bready,
    input  wire [3:0]   m_axi_arid,
    input  wire [63:0]  m_axi_araddr,
    input  wire [7:0]   m_axi_arlen,
    input  wire [2:0]   m_axi_arsize,
    input  wire [1:0]   m_axi_arburst,
    input  wire         m_axi_arvalid,
    input  wire         m_axi_arready,
    input  wire [3:0]   m_axi_rid,
    input  wire [63:0]  m_axi_rdata,
    input  wire [1:0]   m_axi_rresp,
    input  wire         m_axi_rlast,
    input  wire         m_axi_rvalid,
    input  wire         m_axi_rready,
    input  wire [7:0]   s_axil_awaddr,
    input  wire         s_axil_awvalid,
    input  wire         s_axil_awready,
    input  wire [31:0]  s_axil_wdata,
    input  wire         s_axil_wvalid,
    input  wire         s_axil_wready,
    input  wire [1:0]   s_axil_bresp,
    input  wire         s_axil_bvalid,
    input  wire         s_axil_bready,
    input  wire [7:0]   s_axil_araddr,
    input  wire         s_axil_arvalid,
    input  wire         s_axil_arready,
    input  wire [31:0]  s_axil_rdata,
    input  wire         s_axil_rvalid,
    input  wire         s_axil_rready,
    input  wire [127:0] s_axis_tdata,
    input  wire [15:0]  s_axis_tkeep,
    input  wire         s_axis_tlast,
    input  wire [7:0]   s_axis_tuser,
    input  wire         s_axis_tvalid,
    input  wire         s_axis_tready,
    input  wire [127:0] x_tdata,
    input  wire [15:0]  x_tkeep,
    input  wire         x_tlast,
    input  wire         x_tvalid,
    output wire [127:0] m_axis_tdata,
    output wire [15:0]  m_axis_tkeep,
    output wire         m_axis_tlast,
    output wire         m_axis_tvalid,
    input  wire         m_axis_tready
);
    assign m_axis_tdata  = x_tdata;
    assign m_axis_tkeep  = x_tkeep;
    assign m_axis_tlast  = x_tlast;
    assign m_axis_tvalid = x_tvalid;
endmodule
`default_nettype wire
