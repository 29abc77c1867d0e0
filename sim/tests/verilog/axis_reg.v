// AXI4-Stream register slice: one registered stage, ready passed through combinationally.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
module axis_reg #(
    parameter DATA_W = 64
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [DATA_W-1:0]     s_axis_tdata,
    input  wire [DATA_W/8-1:0]   s_axis_tkeep,
    input  wire                  s_axis_tlast,
    input  wire [15:0]           s_axis_tuser,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output reg  [DATA_W-1:0]     m_axis_tdata,
    output reg  [DATA_W/8-1:0]   m_axis_tkeep,
    output reg                   m_axis_tlast,
    output reg  [15:0]           m_axis_tuser,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready
);
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
        end else if (s_axis_tready) begin
            m_axis_tvalid <= s_axis_tvalid;
        end
        if (s_axis_tready) begin
            m_axis_tdata <= s_axis_tdata;
            m_axis_tkeep <= s_axis_tkeep;
            m_axis_tlast <= s_axis_tlast;
            m_axis_tuser <= s_axis_tuser;
        end
    end
endmodule
`default_nettype wire
